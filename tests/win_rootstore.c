/* tests/win_rootstore.c - puts a test CA into the Windows ROOT store and
   takes it out again, for tests/windows.sh (under wine, or a throwaway
   Windows machine: it changes the machine's trust).

   Usage: win_rootstore add|remove|has CERT.der
     add     adds the certificate to the local machine's ROOT store (the
             current user's would show a confirmation dialog on Windows)
     remove  deletes it from there
     has     looks for it where smtpmail.h looks, CertOpenSystemStoreA(0,
             "ROOT"), and prints "present (N certificates)" or "absent (N
             certificates)"; exit status 0 present, 1 absent
   Exit status 2 on any failure, with the reason on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <wincrypt.h>

static unsigned char g_der[16384];

static int fail(const char *what)
{
    fprintf(stderr, "win_rootstore: %s failed (error %lu)\n", what, (unsigned long)GetLastError());
    return 2;
}

/* The local machine's ROOT store as it is kept, in the registry (under
   wine, the system store "ROOT" is a copy in memory, from which a delete
   would not persist). */
static HCERTSTORE open_machine_root(void)
{
    HKEY key;
    HCERTSTORE store;
    if (RegCreateKeyExA(HKEY_LOCAL_MACHINE, "Software\\Microsoft\\SystemCertificates\\ROOT", 0, NULL, 0,
                        KEY_ALL_ACCESS, NULL, &key, NULL) != ERROR_SUCCESS)
        return NULL;
    store = CertOpenStore(CERT_STORE_PROV_REG, 0, 0, 0, key);
    RegCloseKey(key); /* the store keeps its own handle */
    return store;
}

int main(int argc, char **argv)
{
    FILE *f;
    size_t len;
    HCERTSTORE store;
    PCCERT_CONTEXT cert, found;
    int status = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: win_rootstore add|remove|has CERT.der\n");
        return 2;
    }
    if (!(f = fopen(argv[2], "rb"))) {
        fprintf(stderr, "win_rootstore: cannot open %s\n", argv[2]);
        return 2;
    }
    len = fread(g_der, 1, sizeof g_der, f);
    fclose(f);
    if (len == 0 || len == sizeof g_der) {
        fprintf(stderr, "win_rootstore: %s: empty or too big\n", argv[2]);
        return 2;
    }
    cert = CertCreateCertificateContext(X509_ASN_ENCODING, g_der, (DWORD)len);
    if (!cert) return fail("CertCreateCertificateContext (is it DER?)");

    if (strcmp(argv[1], "has") == 0) {
        PCCERT_CONTEXT c = NULL;
        unsigned long n = 0;
        int present = 0;
        if (!(store = CertOpenSystemStoreA(0, "ROOT"))) return fail("CertOpenSystemStoreA ROOT");
        while ((c = CertEnumCertificatesInStore(store, c)) != NULL) {
            n++;
            if (c->cbCertEncoded == cert->cbCertEncoded &&
                memcmp(c->pbCertEncoded, cert->pbCertEncoded, cert->cbCertEncoded) == 0)
                present = 1;
        }
        CertCloseStore(store, 0);
        printf("%s (%lu certificates)\n", present ? "present" : "absent", n);
        status = present ? 0 : 1;
    } else if (strcmp(argv[1], "add") == 0) {
        if (!(store = open_machine_root())) return fail("opening HKLM\\...\\SystemCertificates\\ROOT");
        if (!CertAddCertificateContextToStore(store, cert, CERT_STORE_ADD_REPLACE_EXISTING, NULL))
            status = fail("CertAddCertificateContextToStore");
        CertCloseStore(store, 0);
    } else if (strcmp(argv[1], "remove") == 0) {
        if (!(store = open_machine_root())) return fail("opening HKLM\\...\\SystemCertificates\\ROOT");
        found = CertFindCertificateInStore(store, X509_ASN_ENCODING, 0, CERT_FIND_EXISTING, cert, NULL);
        if (!found) status = fail("CertFindCertificateInStore");
        else if (!CertDeleteCertificateFromStore(found)) status = fail("CertDeleteCertificateFromStore");
        CertCloseStore(store, 0);
    } else {
        fprintf(stderr, "win_rootstore: unknown command %s\n", argv[1]);
        status = 2;
    }
    CertFreeCertificateContext(cert);
    return status;
}
