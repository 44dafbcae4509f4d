// TriadCLI: see docs/ARCHITECTURE.md.
enum TriadCLIModule {}
