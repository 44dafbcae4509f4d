// TriadJournal: see docs/ARCHITECTURE.md.
enum TriadJournalModule {}
