/* Translation unit 2 of the link test: the API only, linked against
   link_impl.c. Duplicate or missing symbols fail the link. */
#include <string.h>
#include "smtpmail.h"

int main(void)
{
    char out[16];
    size_t n = 0;
    if (smtpmail_base64_encode("foobar", 6, out, sizeof out, &n) != SMTPMAIL_OK) return 1;
    if (n != 8 || strcmp(out, "Zm9vYmFy") != 0) return 1; /* RFC 4648 10 */
    return strcmp(smtpmail_result_str(SMTPMAIL_OK), "ok") == 0 ? 0 : 1;
}
