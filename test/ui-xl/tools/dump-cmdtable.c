#include <stdio.h>
#include <string.h>
#include <libxl.h>
#include "xl.h"
extern const struct cmd_spec cmd_table[];
extern const int cmdtable_len;
static void js(const char *s) {
    if (!s) { printf("null"); return; }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}
int main(void) {
    printf("[\n");
    for (int i = 0; i < cmdtable_len; i++) {
        const struct cmd_spec *c = &cmd_table[i];
        printf("{\"name\":"); js(c->cmd_name);
        printf(",\"modifies\":%d,\"canDryrun\":%d,\"desc\":", c->modifies, c->can_dryrun); js(c->cmd_desc);
        printf(",\"usage\":"); js(c->cmd_usage);
        printf(",\"options\":"); js(c->cmd_option);
        printf("}%s\n", i + 1 < cmdtable_len ? "," : "");
    }
    printf("]\n");
    return 0;
}
