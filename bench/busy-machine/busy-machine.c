/*
 * busy-machine: a machine with many processes making system calls, for
 * the top's own CPU benchmark (bench/top.sh).
 *
 *   busy-machine NPROC PERIOD_US SECONDS
 *
 * Forks NPROC processes; each loops for SECONDS: read 1 byte from
 * /dev/zero, write it to /dev/null, sleep PERIOD_US microseconds. One
 * round is about 9 kernel events (3 system calls entered and exited, the
 * wake-up, the switches in and out): NPROC=500 PERIOD_US=110000 makes
 * about 40 k events/s of its own; the rest of the machine adds its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: busy-machine NPROC PERIOD_US SECONDS\n");
		return 2;
	}
	int n = atoi(argv[1]);
	long period = atol(argv[2]);
	int secs = atoi(argv[3]);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0) {
			/* die with the parent (killed by the benchmark) */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			int z = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
			struct timespec ts = { period / 1000000, (period % 1000000) * 1000 }, now, end;
			char c;
			clock_gettime(CLOCK_MONOTONIC, &end);
			end.tv_sec += secs;
			/* spread the processes over the period */
			struct timespec first = { 0, (long)(i * (period * 1000 / n)) % 1000000000 };
			nanosleep(&first, NULL);
			for (;;) {
				if (read(z, &c, 1) != 1 || write(null, &c, 1) != 1)
					_exit(1);
				nanosleep(&ts, NULL);
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
					_exit(0);
			}
		}
	}
	int status = 0;
	while (wait(&status) > 0)
		;
	return 0;
}
