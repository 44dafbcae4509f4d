import XCTest

final class TriadZoneTestsPlaceholder: XCTestCase {}
