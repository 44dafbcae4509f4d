#ifndef TRIAD_CPCSC_SHIM_H
#define TRIAD_CPCSC_SHIM_H
// pcsc-lite's WinSCard API (pkg-config libpcsclite adds -I/usr/include/PCSC).
#include <winscard.h>
#include <reader.h>
#endif
