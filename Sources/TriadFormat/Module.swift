// TriadFormat: see docs/ARCHITECTURE.md.
enum TriadFormatModule {}
