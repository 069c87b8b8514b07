import Testing
@testable import CollapseRunner

@Suite struct CSVNumberTests {
    @Test(arguments: [0.1, 1.0 / 3, 1e-300, Double.leastNonzeroMagnitude, 123456789.125, -2.5e17, 0.98999999999999999, Double.pi])
    func formattedNumbersReadBackExactly(x: Double) {
        let text = CSVNumber.format(x)
        #expect(CSVNumber.parse(Substring(text)) == x, "\(x) -> \(text)")
    }

    @Test func specialValuesAndIntegersAreSpelledPlainly() {
        #expect(CSVNumber.format(.infinity) == "inf")
        #expect(CSVNumber.format(-.infinity) == "-inf")
        #expect(CSVNumber.format(.nan) == "nan")
        #expect(CSVNumber.format(3) == "3")
        #expect(CSVNumber.format(-0.0) == "-0")
        #expect(CSVNumber.format(0.5) == "0.5")
        #expect(CSVNumber.parse("inf") == .infinity)
        #expect(CSVNumber.parse("x") == nil)
    }
}
