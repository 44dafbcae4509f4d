// TriadCrypto: the only target that imports COpenSSL. See docs/ARCHITECTURE.md.
enum TriadCryptoModule {}
