import XCTest

final class TriadCryptoTestsPlaceholder: XCTestCase {}
