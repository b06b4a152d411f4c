// The exec tests again, with every job started by child_process.spawn: the
// launcher fanout uses where bash is missing, and for --no-shell.
process.env.FANOUT_EXEC_LAUNCHER = 'spawn';
await import('./exec.test.ts');
