/* tests/embedded_impl.c - the implementation as a small embedded build has
   it: no sockets (config.transport is the network), no file access, and
   buffers at their minimum sizes. TLS is chosen on the command line:
   -DSMTPMAIL_NO_TLS for plaintext only.

   Built for a Cortex-M4 by tests/embedded.sh (make embedded-check) and for
   the host as build/embedded_host.o, which build/test_embedded drives. */
#define SMTPMAIL_NO_SOCKETS
#define SMTPMAIL_NO_STDIO
#define SMTPMAIL_SEND_BUFFER 1024
#define SMTPMAIL_RECV_BUFFER 520
#define SMTPMAIL_CMD_BUFFER 600
#define SMTPMAIL_OUTPUT_BUFFER 256
#define SMTPMAIL_READ_CHUNK 171
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"
