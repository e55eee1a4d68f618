/* tests/embedded_mbedtls_user.h - MBEDTLS_USER_CONFIG_FILE for the
   cross build of make embedded-check: Debian's mbedTLS 2.28 configuration
   minus what a bare-metal target lacks (threads, sockets, files, OS
   entropy). The firmware would supply mbedtls_hardware_poll (a TRNG). */
#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_NET_C
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_HAVEGE_C
#undef MBEDTLS_PSA_ITS_FILE_C
#undef MBEDTLS_PSA_CRYPTO_STORAGE_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#ifdef SMTPMAIL_EMBEDDED_NO_FS_IO
#  undef MBEDTLS_FS_IO
#endif
