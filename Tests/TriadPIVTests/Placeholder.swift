import XCTest

final class TriadPIVTestsPlaceholder: XCTestCase {}
