import XCTest

final class TriadFormatTestsPlaceholder: XCTestCase {}
