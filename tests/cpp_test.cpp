// The header compiled as C++: the API part in a namespace-free TU and the
// implementation, with a call through each kind of public entry point.
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"
#include "smtpmail.h" // a second include must be harmless
#include <cstdio>
#include <cstring>

int main()
{
    smtpmail_address to[1] = {{"Trader", "trader@example.com"}};
    smtpmail_message msg = smtpmail_message();
    char buf[4096];
    size_t len = 0;
    smtpmail_error err;
    msg.from.addr = "bot@example.com";
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "C++ \xe6\xb5\x8b\xe8\xaf\x95";  // "测试"
    msg.text = "hello\n";
    smtpmail_result r = smtpmail_message_render(&msg, NULL, buf, sizeof buf, &len, &err);
    if (r != SMTPMAIL_OK) {
        std::printf("render failed: %s\n", err.message);
        return 1;
    }
    if (std::strstr(buf, "Subject: C++ =?UTF-8?B?5rWL6K+V?=\r\n") == NULL) {
        std::printf("unexpected Subject in:\n%s\n", buf);
        return 1;
    }
    return 0;
}
