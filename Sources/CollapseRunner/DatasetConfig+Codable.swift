import CollapseCore

extension DatasetConfig {
    private enum CodingKeys: String, CodingKey {
        case path, resolvedPath, sha256, featureColumns, labelColumn, targetColumn, classNames, rows
    }

    /// Manifests record where the data came from (path, hash, columns, row count), not the rows:
    /// a decoded `DatasetConfig` has an empty feature matrix and must be reloaded from `path`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let columns = try c.decode([String].self, forKey: .featureColumns)
        self.init(path: try c.decode(String.self, forKey: .path), resolvedPath: try c.decode(String.self, forKey: .resolvedPath),
                  sha256: try c.decode(String.self, forKey: .sha256), featureColumns: columns,
                  labelColumn: try c.decodeIfPresent(String.self, forKey: .labelColumn),
                  targetColumn: try c.decodeIfPresent(String.self, forKey: .targetColumn),
                  features: Matrix(rows: 0, columns: columns.count), labels: nil,
                  classNames: try c.decodeIfPresent([String].self, forKey: .classNames), targets: nil)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(resolvedPath, forKey: .resolvedPath)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(featureColumns, forKey: .featureColumns)
        try c.encodeIfPresent(labelColumn, forKey: .labelColumn)
        try c.encodeIfPresent(targetColumn, forKey: .targetColumn)
        try c.encodeIfPresent(classNames, forKey: .classNames)
        try c.encode(features.rows, forKey: .rows)
    }
}
