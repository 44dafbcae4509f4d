// TriadCrypto: see docs/ARCHITECTURE.md.
enum TriadCryptoModule {}
