/* Replays fuzz inputs without libFuzzer: each argument is a file (or a
   directory's files are not walked: pass them with a shell glob). With no
   argument, one input is read from stdin (what AFL++'s plain mode runs). */
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int replay(FILE *f)
{
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    return LLVMFuzzerTestOneInput(buf, n);
}

int main(int argc, char **argv)
{
    int i;
    if (argc < 2) return replay(stdin);
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        replay(f);
        fclose(f);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
