import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a partial run must match to be resumed: the same config bytes and the same shard.
struct RunIdentity: Codable, Equatable, Sendable {
    var configSHA256: String
    var shard: String?
    var chainCount: Int
}

/// The durable progress of an unfinished run (`run-state.json`).
struct RunState: Codable, Equatable {
    var identity: RunIdentity
    /// Chains whose rows are in the partial file, and the file's durable length in bytes.
    var chainsDone: Int
    var bytes: Int
    var rows: Int
}

extension Engine {
    /// Whether `directory` holds an unfinished run (a `run-state.json`) that `--resume` continues.
    public static func hasUnfinishedRun(in directory: URL) -> Bool {
        OutputFiles(directory: directory).readState() != nil
    }
}

/// The files of one output directory, and the rules for creating, resuming and replacing them.
struct OutputFiles {
    let directory: URL
    var metrics: URL { directory.appendingPathComponent("metrics.csv") }
    var partial: URL { directory.appendingPathComponent("metrics.csv.partial") }
    var summary: URL { directory.appendingPathComponent("summary.csv") }
    var manifest: URL { directory.appendingPathComponent("manifest.json") }
    var state: URL { directory.appendingPathComponent("run-state.json") }
    var lockFile: URL { directory.appendingPathComponent(".lock") }
    var samples: URL { directory.appendingPathComponent("samples") }

    /// Writes replicate 0's training set of `generation` to
    /// `samples/variant-<v>-generation-<g>.csv` (atomically; rewritten identically on resume).
    func writeExport(_ csv: String, variant: Int, generation: Int) throws(RunError) {
        do { try fm.createDirectory(at: samples, withIntermediateDirectories: true) } catch {
            throw RunError.io("cannot create \(samples.path): \(error.localizedDescription)")
        }
        try writeAtomically(Data(csv.utf8), to: samples.appendingPathComponent("variant-\(variant)-generation-\(generation).csv"))
    }

    private var fm: FileManager { FileManager.default }

    /// Creates the directory, or checks what is in it: a finished run or an unfinished one is
    /// never overwritten without `force`, and only an unfinished run of the same config and
    /// shard is resumed.
    func createDirectory() throws(RunError) {
        // mkdir -p, one component at a time, so the message can name the component in the way.
        var path = ""
        for component in directory.standardizedFileURL.pathComponents {
            path = path.isEmpty || component == "/" ? component : (path == "/" ? "/" : path + "/") + component
            var info = stat()
            if stat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw RunError.io("cannot create the output directory \(directory.path): \(path) is a file, not a directory. Choose another with --out.")
                }
                continue
            }
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw RunError.io("cannot create the output directory \(directory.path): mkdir \(path): \(Self.failure(errno))")
            }
        }
    }

    func prepare(identity: RunIdentity, resume: Bool, force: Bool) throws(RunError) {
        try createDirectory()
        guard fm.isWritableFile(atPath: directory.path) else {
            throw RunError.io("the output directory \(directory.path) is not writable. Fix its permissions or choose another with --out.")
        }
        if force {
            for url in [metrics, partial, summary, manifest, state, samples] { try? fm.removeItem(at: url) }
            return
        }
        if let saved = readState() {
            guard resume else {
                throw RunError.outputExists("""
                    \(directory.path) holds an unfinished run (\(saved.chainsDone) of \(saved.identity.chainCount) chains done).
                    Finish it with --resume, or start over with --force.
                    """)
            }
            guard saved.identity == identity else {
                throw RunError.resume("""
                    the unfinished run in \(directory.path) was made from a different config or shard \
                    (config \(saved.identity.configSHA256.prefix(12)), shard \(saved.identity.shard ?? "none")); \
                    this is config \(identity.configSHA256.prefix(12)), shard \(identity.shard ?? "none"). \
                    Use --force to discard it, or --out to run elsewhere.
                    """)
            }
            return
        }
        if fm.fileExists(atPath: manifest.path) || fm.fileExists(atPath: metrics.path) {
            throw RunError.outputExists("""
                \(directory.path) already holds a finished run. Use --force to replace it, or --out to choose another directory.
                """)
        }
        // A partial file without a state file was never durable: start over.
        try? fm.removeItem(at: partial)
    }

    func readState() -> RunState? {
        guard let data = try? Data(contentsOf: state) else { return nil }
        return try? JSONDecoder().decode(RunState.self, from: data)
    }

    /// Takes the directory's lock (flock: released by the kernel even after kill -9).
    func lock() throws(RunError) -> DirectoryLock {
        let fd = open(lockFile.path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw RunError.io("cannot open \(lockFile.path): \(Self.failure(errno))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw RunError.locked("another collapse run is writing to \(directory.path); wait for it to finish or use another --out.")
        }
        return DirectoryLock(fd: fd)
    }

    /// Opens the partial metrics file: fresh (header only) or, when resuming, truncated to its
    /// last durable length.
    func openPartial(identity: RunIdentity, header: String, resume: Bool) throws(RunError) -> PartialWriter {
        var state = RunState(identity: identity, chainsDone: 0, bytes: 0, rows: 0)
        if resume, let saved = readState(), saved.identity == identity {
            state = saved
        } else {
            try? fm.removeItem(at: partial)
            guard fm.createFile(atPath: partial.path, contents: Data(header.utf8)) else {
                throw RunError.io("cannot write \(partial.path): \(Self.failure(errno))")
            }
            state.bytes = header.utf8.count
        }
        let fd = open(partial.path, O_WRONLY)
        guard fd >= 0 else { throw RunError.resume("cannot open \(partial.path) to resume: \(String(cString: strerror(errno))). Use --force to start over.") }
        var size = stat()
        fstat(fd, &size)
        guard Int(size.st_size) >= state.bytes else {
            close(fd)
            throw RunError.resume("\(partial.path) is shorter than its recorded progress; the directory was modified. Use --force to start over.")
        }
        if ftruncate(fd, off_t(state.bytes)) != 0 || lseek(fd, off_t(state.bytes), SEEK_SET) < 0 {
            close(fd)
            throw RunError.io("cannot truncate \(partial.path): \(String(cString: strerror(errno)))")
        }
        let writer = PartialWriter(files: self, fd: fd, state: state)
        try writer.saveState()
        return writer
    }

    /// Writes `data` to `url` via a temporary file, fsync and rename: readers see the old file
    /// or the new one, never a torn one.
    func writeAtomically(_ data: Data, to url: URL) throws(RunError) {
        let tmp = url.appendingPathExtension("tmp")
        let fd = open(tmp.path, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
        guard fd >= 0 else { throw RunError.io("cannot write \(tmp.path): \(Self.failure(errno))") }
        let ok = !FaultInjection.reach("write-\(url.lastPathComponent)") && data.withUnsafeBytes { raw in writeAll(fd, raw) }
        let failure = ok ? (fsync(fd) == 0 ? 0 : errno) : errno
        close(fd)
        guard failure == 0 else {
            try? fm.removeItem(at: tmp)
            throw RunError.io("cannot write \(url.path): \(Self.failure(failure))")
        }
        guard rename(tmp.path, url.path) == 0 else {
            throw RunError.io("cannot rename \(tmp.path) to \(url.path): \(Self.failure(errno))")
        }
        FaultInjection.reach("renamed-\(url.lastPathComponent)")
    }

    /// `<strerror>; <what to do>` for a failed write or open (the command line adds how to
    /// continue the run afterwards).
    static func failure(_ code: Int32) -> String {
        let what: String
        switch code {
        case ENOSPC, EDQUOT: what = "free space on that file system (or choose another --out)"
        case EFBIG: what = "the file is larger than this process may write (ulimit -f); raise the limit"
        case EROFS: what = "the file system is read-only; remount it read-write or choose another --out"
        case EACCES, EPERM: what = "fix the directory's permissions or choose another --out"
        default: what = "check the output directory or choose another --out"
        }
        return "\(String(cString: strerror(code))); \(what)"
    }

    func removeState() throws(RunError) {
        try? fm.removeItem(at: state)
    }
}

/// Writes all bytes, retrying short writes; false on an error (errno set).
func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}

/// The held flock of an output directory.
final class DirectoryLock {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Appends chain rows to `metrics.csv.partial` and records durable progress in `run-state.json`.
struct PartialWriter {
    let files: OutputFiles
    let fd: Int32
    var state: RunState

    init(files: OutputFiles, fd: Int32, state: RunState) {
        self.files = files
        self.fd = fd
        self.state = state
    }

    var chainsDone: Int {
        get { state.chainsDone }
        set { state.chainsDone = newValue }
    }
    var rows: Int {
        get { state.rows }
        set { state.rows = newValue }
    }

    mutating func append(_ bytes: [UInt8]) throws(RunError) {
        let half = bytes.count / 2
        let ok = bytes.withUnsafeBytes { raw in
            writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[..<half])) && !FaultInjection.reach("mid-append")
                && writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[half...]))
        }
        guard ok else {
            throw RunError.io("cannot write \(files.partial.path): \(OutputFiles.failure(errno)). Chains finished before this are kept.")
        }
        state.bytes += bytes.count
        FaultInjection.reach("appended")
    }

    /// Makes everything appended so far durable, then records it.
    func sync() throws(RunError) {
        guard fsync(fd) == 0 else { throw RunError.io("cannot sync \(files.partial.path): \(OutputFiles.failure(errno))") }
        try saveState()
    }

    func saveState() throws(RunError) {
        let data: Data
        do { data = try JSONEncoder().encode(state) } catch { throw RunError.io("cannot encode run state: \(error)") }
        try files.writeAtomically(data, to: files.state)
    }

    /// Syncs, closes and renames the partial file to metrics.csv.
    func finish() throws(RunError) {
        try sync()
        close(fd)
        guard rename(files.partial.path, files.metrics.path) == 0 else {
            throw RunError.io("cannot rename \(files.partial.path) to metrics.csv: \(String(cString: strerror(errno)))")
        }
        FaultInjection.reach("metrics-renamed")
    }
}
