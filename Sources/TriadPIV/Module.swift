// TriadPIV: see docs/ARCHITECTURE.md.
enum TriadPIVModule {}
