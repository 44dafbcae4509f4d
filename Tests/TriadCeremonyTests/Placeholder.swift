import XCTest

final class TriadCeremonyTestsPlaceholder: XCTestCase {}
