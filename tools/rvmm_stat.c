// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_stat: which VM exits happen, how often, on which CPU, as kvm_stat shows KVM's.
 *
 *   rvmm_stat [-i SECONDS] [-n COUNT]   exits per second, refreshed every SECONDS (default 1), COUNT
 *                                       times (default: until interrupted)
 *   rvmm_stat -1 [-i SECONDS]           one interval, for scripts
 *   rvmm_stat -- COMMAND [ARG...]       the exits counted while COMMAND ran, and per second
 *
 * Only the reasons whose counters moved are shown, most frequent first, with one column per CPU.
 * It reads /sys/kernel/debug/rvmm/exits (one header line, then "NAME NR COUNT... TOTAL" per reason),
 * whose counters run from the load or the last reset; the full table stays there for scripts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXITS		"/sys/kernel/debug/rvmm/exits"
#define MAX_REASONS	128
#define MAX_CPUS	64
#define NAME_LEN	32

struct sample {
	int reasons, cpus;
	char name[MAX_REASONS][NAME_LEN];
	int nr[MAX_REASONS];
	unsigned long long count[MAX_REASONS][MAX_CPUS];
	char cpu_label[MAX_CPUS][16];
	double when;
};

/* The exits file; RVMM_EXITS names another file with the same format (for testing). */
static const char *exits_path = EXITS;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "rvmm_stat: %s: %s\n", what, strerror(errno));
	if (errno == ENOENT)
		fprintf(stderr, "rvmm_stat: is rvmm loaded (insmod rvmm.ko) and debugfs mounted on /sys/kernel/debug?\n");
	exit(1);
}

static void read_sample(struct sample *s)
{
	char line[4096], *tok, *save;
	FILE *f = fopen(exits_path, "r");
	int col;

	if (!f)
		die(exits_path);
	memset(s, 0, sizeof(*s));
	s->when = now();
	if (!fgets(line, sizeof(line), f))
		die("reading the exit table's header");
	/* "reason nr cpu0 ... total": the CPU columns lie between "nr" and "total". */
	for (col = 0, tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
		if (col >= 2 && strcmp(tok, "total") && s->cpus < MAX_CPUS)
			snprintf(s->cpu_label[s->cpus++], sizeof(s->cpu_label[0]), "%s", tok);
	while (s->reasons < MAX_REASONS && fgets(line, sizeof(line), f)) {
		int r = s->reasons;

		tok = strtok_r(line, " \t\n", &save);
		if (!tok)
			continue;
		snprintf(s->name[r], NAME_LEN, "%s", tok);
		tok = strtok_r(NULL, " \t\n", &save);
		s->nr[r] = tok ? atoi(tok) : -1;
		for (col = 0; col < s->cpus && (tok = strtok_r(NULL, " \t\n", &save)); col++)
			s->count[r][col] = strtoull(tok, NULL, 10);
		s->reasons++;
	}
	fclose(f);
}

struct row {
	int reason;
	unsigned long long total;
};

static int by_total(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return x->reason - y->reason;
}

/* The reasons that moved from @a to @b, most first; per second if @rate. */
static void show(const struct sample *a, const struct sample *b, int rate)
{
	double seconds = b->when - a->when;
	struct row rows[MAX_REASONS];
	int n = 0, i, c;

	for (i = 0; i < b->reasons && i < a->reasons; i++) {
		unsigned long long total = 0;

		for (c = 0; c < b->cpus; c++)
			total += b->count[i][c] - a->count[i][c];
		if (total)
			rows[n++] = (struct row){ i, total };
	}
	qsort(rows, n, sizeof(rows[0]), by_total);
	printf("%-20s %4s %10s", "reason", "nr", rate ? "total/s" : "total");
	for (c = 0; c < b->cpus; c++)
		printf(" %10s", b->cpu_label[c]);
	printf("\n");
	for (i = 0; i < n; i++) {
		int r = rows[i].reason;
		double scale = rate && seconds > 0 ? 1 / seconds : 1;

		printf("%-20s %4d %10.0f", b->name[r], b->nr[r], rows[i].total * scale);
		for (c = 0; c < b->cpus; c++)
			printf(" %10.0f", (b->count[r][c] - a->count[r][c]) * scale);
		printf("\n");
	}
	if (!n)
		printf("(no exits)\n");
}

static int usage(void)
{
	fprintf(stderr, "usage: rvmm_stat [-i SECONDS] [-n COUNT] | -1 [-i SECONDS] | -- COMMAND [ARG...]\n");
	return 2;
}

static int run_command(char **argv)
{
	static struct sample before, after;
	int status;
	pid_t pid;

	read_sample(&before);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "rvmm_stat: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	read_sample(&after);
	printf("VM exits while '%s' ran (%.3f s), by reason and CPU:\n", argv[0], after.when - before.when);
	show(&before, &after, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	static struct sample a, b;
	double interval = 1;
	long count = -1;
	int opt, i;

	if (getenv("RVMM_EXITS"))
		exits_path = getenv("RVMM_EXITS");
	while ((opt = getopt(argc, argv, "1i:n:")) != -1) {
		switch (opt) {
		case '1':
			count = 1;
			break;
		case 'i':
			interval = atof(optarg);
			if (interval <= 0)
				return usage();
			break;
		case 'n':
			count = atol(optarg);
			if (count <= 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind < argc)
		return run_command(argv + optind);

	read_sample(&a);
	for (i = 0; count < 0 || i < count; i++) {
		struct timespec pause = { (time_t)interval, (long)((interval - (time_t)interval) * 1e9) };

		nanosleep(&pause, NULL);
		read_sample(&b);
		/* Refreshed in place on a terminal, like kvm_stat; one block per interval otherwise. */
		if (isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		else if (i)
			printf("\n");
		printf("VM exits per second over %.2f s, by reason and CPU:\n", b.when - a.when);
		show(&a, &b, 1);
		fflush(stdout);
		a = b;
	}
	return 0;
}
