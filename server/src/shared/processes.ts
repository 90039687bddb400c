// Whether a process still exists, asked with signal 0, which checks without sending anything.

/** 'ours': it exists and we may signal it; 'foreign': it exists but is another user's; 'none': gone. */
export function processPresence(pid: number): 'ours' | 'foreign' | 'none' {
  try {
    process.kill(pid, 0);
    return 'ours';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'foreign' : 'none';
  }
}
