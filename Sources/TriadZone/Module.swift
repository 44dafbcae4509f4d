// TriadZone: see docs/ARCHITECTURE.md.
enum TriadZoneModule {}
