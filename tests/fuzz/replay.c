/*
 * replay: feeds every file in the directories (and every file) named on the
 * command line to LLVMFuzzerTestOneInput, so fuzz corpora run as ordinary
 * tests in every build and sanitizer. Exits 1 when a named path or a
 * directory cannot be read; a file that cannot be read is reported and
 * skipped; an empty corpus is fine.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_FILE_MAX (1024 * 1024)   /* bigger files are skipped: no fuzz input needs more */
#define REPLAY_PATH_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file through the harness; returns 1 when it ran, 0 when skipped. */
static int replay_file(const char *path, off_t size)
{
	uint8_t *buf;
	FILE *f;
	size_t got;
	int ran = 0;

	if (size > REPLAY_FILE_MAX) {
		fprintf(stderr, "replay: %s: larger than %d bytes, skipped\n", path, REPLAY_FILE_MAX);
		return 0;
	}
	/* Exactly the file's size, so the sanitizers see any read past the input. */
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL) {
		fprintf(stderr, "replay: %s: out of memory, skipped\n", path);
		return 0;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s, skipped\n", path, strerror(errno));
		goto free_buf;
	}
	got = fread(buf, 1, (size_t)size, f);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error, skipped\n", path);
		goto close_file;
	}
	LLVMFuzzerTestOneInput(buf, got);
	ran = 1;
close_file:
	fclose(f);
free_buf:
	free(buf);
	return ran;
}

/* Runs every regular file of dir (not recursing); returns -1 when dir cannot be read. */
static int replay_dir(const char *dir, unsigned *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[REPLAY_PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: path too long, skipped\n", dir, e->d_name);
			continue;
		}
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			*count += (unsigned)replay_file(path, st.st_size);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else {
			count += (unsigned)replay_file(argv[i], st.st_size);
		}
	}
	printf("replay: %u inputs\n", count);
	return rc;
}
