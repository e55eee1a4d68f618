/* Which mbedTLS a program of the suite is built against: the version the
   headers name (MBEDTLS_VERSION_STRING), the version of the library it
   linked (mbedtls_version_get_string) and whether TLS 1.3 is compiled in.
   Usage: mbedtls_version [PREFIX]. Exits 1 when headers and library
   disagree, or when PREFIX is given and the version does not start with
   it. `make mbedtls3` runs it with 3.6. */
#include <stdio.h>
#include <string.h>
#include <mbedtls/version.h>
#include <mbedtls/ssl.h>

#if !defined(MBEDTLS_VERSION_C)
#  error "mbedtls_version needs MBEDTLS_VERSION_C"
#endif

int main(int argc, char **argv)
{
    char lib[18] = {0}; /* mbedtls_version_get_string writes at most 9 */
    const char *want = argc > 1 ? argv[1] : "";
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    const char *tls13 = "on";
#else
    const char *tls13 = "off";
#endif
    mbedtls_version_get_string(lib);
    printf("mbedTLS headers %s, library %s, TLS 1.3 %s\n", MBEDTLS_VERSION_STRING, lib, tls13);
    if (strcmp(lib, MBEDTLS_VERSION_STRING) != 0) {
        printf("the headers and the library are different versions\n");
        return 1;
    }
    if (strncmp(lib, want, strlen(want)) != 0) {
        printf("expected %s*\n", want);
        return 1;
    }
    return 0;
}
