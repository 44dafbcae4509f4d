// TriadPCSC: see docs/ARCHITECTURE.md.
enum TriadPCSCModule {}
