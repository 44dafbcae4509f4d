// VirtualPIV: see docs/ARCHITECTURE.md.
enum VirtualPIVModule {}
