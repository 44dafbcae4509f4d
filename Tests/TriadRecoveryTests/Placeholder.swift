import XCTest

final class TriadRecoveryTestsPlaceholder: XCTestCase {}
