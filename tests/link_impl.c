/* Translation unit 1 of the link test: the one with the implementation. */
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"
