#!/bin/sh
# Mints a throwaway PKI for the TLS tests. Usage: sh tests/mkcerts.sh DIR
#
# Writes into DIR (created if missing; existing files are replaced):
#   ca.pem ca.key                test CA (EC P-256), valid 2020-01-01 .. now+10y
#   server.pem server.key        from the CA; SAN DNS:localhost, IP:127.0.0.1; valid now
#   wronghost.pem wronghost.key  from the CA; SAN DNS:wrong.example.com only
#   expired.pem expired.key      from the CA; SAN as server; valid only in 2020
#   selfsigned.pem selfsigned.key  self-signed leaf; SAN as server; not from the CA
#   other-ca.pem other-ca.key    a second, unrelated CA (for "untrusted CA" tests)
#   server.pubkey.sha256         base64(SHA-256(DER SubjectPublicKeyInfo of
#                                server.pem)), the curl --pinnedpubkey sha256// value
# Prints nothing on success; on failure prints the failing step and its
# output to stderr and exits non-zero. Uses its own openssl config (never the
# one in /etc), so OPENSSL_CONF and the system defaults do not matter.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
command -v openssl >/dev/null 2>&1 || { echo "mkcerts.sh: openssl not found" >&2; exit 1; }

dir=$1
mkdir -p "$dir" || { echo "mkcerts.sh: cannot create $dir" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mkcerts.XXXXXX") || { echo "mkcerts.sh: mktemp failed" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# run STEP COMMAND...: quiet on success; the command's output on failure.
run() {
    step=$1
    shift
    if ! "$@" >"$work/log" 2>&1; then
        echo "mkcerts.sh: $step failed: $*" >&2
        cat "$work/log" >&2
        exit 1
    fi
}
fail() { echo "mkcerts.sh: $*" >&2; exit 1; }

# Private keys readable by the owner only.
umask 077

# One config for every step. `openssl ca` needs a database; it lives in $work.
mkdir "$work/db" "$work/new"
: >"$work/db/index.txt"
echo 'unique_subject = no' >"$work/db/index.txt.attr"
cat >"$work/openssl.cnf" <<EOF
[ req ]
distinguished_name = req_dn
prompt = no
utf8 = yes
string_mask = utf8only

[ req_dn ]
CN = unused

[ ca ]
default_ca = test_ca

[ test_ca ]
database = $work/db/index.txt
new_certs_dir = $work/new
rand_serial = yes
default_md = sha256
policy = policy_cn
email_in_dn = no
copy_extensions = none
unique_subject = no

[ policy_cn ]
commonName = supplied

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost, IP:127.0.0.1

[ wronghost_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:wrong.example.com

# No keyUsage: with digitalSignature alone OpenSSL would not treat it as
# self-issued (wants keyCertSign) and keyCertSign needs CA:TRUE (RFC 5280).
[ selfsigned_ext ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
OPENSSL_CONF=$work/openssl.cnf
export OPENSSL_CONF
cnf=$work/openssl.cnf

# Fixed past start: no clock arithmetic, and no "not yet valid" on skewed clocks.
past=20200101000000Z

genkey() { # genkey FILE
    run "key $1" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# mkca NAME CN: a self-signed CA, valid from $past for ten years from now.
mkca() {
    genkey "$work/$1.key"
    run "$1 request" openssl req -new -config "$cnf" -key "$work/$1.key" \
        -subj "/CN=$2" -out "$work/$1.csr"
    run "$1 certificate" openssl ca -batch -notext -config "$cnf" -selfsign \
        -keyfile "$work/$1.key" -startdate "$past" -days 3650 \
        -extensions v3_ca -in "$work/$1.csr" -out "$work/$1.pem"
}

# mkleaf NAME CN EXT [CA-ENDDATE-ARGS...]: a leaf signed by the test CA.
mkleaf() {
    name=$1 cn=$2 ext=$3
    shift 3
    genkey "$work/$name.key"
    run "$name request" openssl req -new -config "$cnf" -key "$work/$name.key" \
        -subj "/CN=$cn" -out "$work/$name.csr"
    run "$name certificate" openssl ca -batch -notext -config "$cnf" \
        -cert "$work/ca.pem" -keyfile "$work/ca.key" -startdate "$past" "$@" \
        -extensions "$ext" -in "$work/$name.csr" -out "$work/$name.pem"
}

mkca ca "smtpmail.h test CA"
mkca other-ca "smtpmail.h other test CA"
mkleaf server localhost server_ext -days 3650
mkleaf wronghost wrong.example.com wronghost_ext -days 3650
mkleaf expired localhost server_ext -enddate 20210101000000Z

genkey "$work/selfsigned.key"
run "selfsigned certificate" openssl req -new -x509 -config "$cnf" \
    -key "$work/selfsigned.key" -subj "/CN=localhost" -days 3650 \
    -extensions selfsigned_ext -out "$work/selfsigned.pem"

# The pin: SHA-256 over the DER SubjectPublicKeyInfo, base64 (RFC 7469 style).
# Step by step through files: a pipeline would hide a failing first stage.
run "server public key" openssl x509 -in "$work/server.pem" -pubkey -noout -out "$work/server.pub"
run "server SPKI" openssl pkey -pubin -in "$work/server.pub" -outform der -out "$work/server.spki"
run "server SPKI digest" openssl dgst -sha256 -binary -out "$work/server.spki.sha256" "$work/server.spki"
run "server pin" openssl base64 -A -in "$work/server.spki.sha256" -out "$work/server.pubkey.sha256"
echo >>"$work/server.pubkey.sha256"
# A P-256 SPKI is 91 bytes; the pin is 44 characters and a newline.
[ "$(wc -c <"$work/server.spki")" -gt 0 ] || fail "server SPKI is empty"
[ "$(wc -c <"$work/server.pubkey.sha256")" -eq 45 ] || fail "server pin has the wrong length"

# Check that every file is what its name says before handing it out.
verify() { # verify EXPECT CAFILE CERT [OPTIONS...]; EXPECT: ok or an error text
    expect=$1 ca=$2 cert=$3
    shift 3
    out=$(openssl verify -CAfile "$ca" "$@" "$cert" 2>&1) && got=ok || got=$out
    case $got in
    *"$expect"*) ;;
    *) fail "self-check: $(basename "$cert") against $(basename "$ca") $*: expected '$expect', got: $out" ;;
    esac
}
verify ok "$work/ca.pem" "$work/server.pem" -purpose sslserver -verify_hostname localhost
verify ok "$work/ca.pem" "$work/server.pem" -verify_ip 127.0.0.1
verify "hostname mismatch" "$work/ca.pem" "$work/wronghost.pem" -verify_hostname localhost
verify "certificate has expired" "$work/ca.pem" "$work/expired.pem" -verify_hostname localhost
verify "self-signed certificate" "$work/ca.pem" "$work/selfsigned.pem"
verify "unable to get local issuer" "$work/other-ca.pem" "$work/server.pem"
openssl x509 -in "$work/expired.pem" -noout -checkend 0 >/dev/null 2>&1 &&
    fail "self-check: expired.pem is not expired"
openssl x509 -in "$work/server.pem" -noout -checkend 86400 >/dev/null 2>&1 ||
    fail "self-check: server.pem expires within a day"

# Certificates are public; keys stay 0600.
for f in ca other-ca server wronghost expired selfsigned; do
    cp "$work/$f.pem" "$work/$f.key" "$dir/" || fail "cannot write to $dir"
    chmod 644 "$dir/$f.pem" || fail "cannot chmod in $dir"
    chmod 600 "$dir/$f.key" || fail "cannot chmod in $dir"
done
cp "$work/server.pubkey.sha256" "$dir/" || fail "cannot write to $dir"
chmod 644 "$dir/server.pubkey.sha256" || fail "cannot chmod in $dir"
