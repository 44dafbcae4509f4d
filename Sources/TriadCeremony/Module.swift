// TriadCeremony: see docs/ARCHITECTURE.md.
enum TriadCeremonyModule {}
