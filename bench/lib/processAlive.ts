// Whether a process still answers signal 0 (a benchmark waits on a model host's exit with it).

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
