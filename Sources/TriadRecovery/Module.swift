// TriadRecovery: escrow blob and recovery operations (issue 5). See docs/ARCHITECTURE.md.
enum TriadRecoveryModule {}
