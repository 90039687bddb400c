// Server work-done progress (model download, load, wake) as a VS Code progress notification.
// The language client alone would only show a status bar spinner. A wake that ends within a
// second never pops a notification.
import * as vscode from 'vscode';
import {
  WorkDoneProgressCancelNotification,
  type HandleWorkDoneProgressSignature,
  type LanguageClient,
  type ProgressToken,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageclient/node';

const showAfterMs = 1000;

interface Running {
  title: string;
  cancellable: boolean;
  message?: string;
  percentage?: number;
  timer: ReturnType<typeof setTimeout> | null;
  report?: (value: { message?: string; increment?: number }) => void;
  reported: number;
  finish?: () => void;
  ended: boolean;
}

export class ProgressNotifications implements vscode.Disposable {
  private readonly running = new Map<ProgressToken, Running>();

  constructor(private readonly client: () => LanguageClient | undefined) {}

  /** Middleware `handleWorkDoneProgress`: takes begin/report itself, lets the client clean up on end. */
  readonly handle = (
    token: ProgressToken,
    params: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd,
    next: HandleWorkDoneProgressSignature,
  ): void => {
    switch (params.kind) {
      case 'begin': {
        const entry: Running = {
          title: params.title,
          cancellable: params.cancellable === true,
          message: params.message,
          percentage: params.percentage,
          timer: null,
          reported: 0,
          ended: false,
        };
        entry.timer = setTimeout(() => this.show(token, entry), showAfterMs);
        this.running.set(token, entry);
        return;
      }
      case 'report': {
        const entry = this.running.get(token);
        if (!entry) return;
        if (params.message !== undefined) entry.message = params.message;
        if (params.percentage !== undefined) entry.percentage = params.percentage;
        this.push(entry);
        return;
      }
      case 'end': {
        const entry = this.running.get(token);
        this.running.delete(token);
        if (entry) this.end(entry);
        next(token, params);
        return;
      }
    }
  };

  private show(token: ProgressToken, entry: Running): void {
    entry.timer = null;
    if (entry.ended) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: entry.title, cancellable: entry.cancellable },
      (progress, cancellation) =>
        new Promise<void>((resolve) => {
          entry.report = (value) => progress.report(value);
          entry.finish = resolve;
          cancellation.onCancellationRequested(() => {
            void this.client()?.sendNotification(WorkDoneProgressCancelNotification.type, { token });
          });
          this.push(entry);
        }),
    );
  }

  private push(entry: Running): void {
    if (!entry.report) return;
    const increment = entry.percentage !== undefined ? Math.max(0, Math.min(100, entry.percentage) - entry.reported) : undefined;
    if (increment !== undefined) entry.reported += increment;
    entry.report({ message: entry.message, increment });
  }

  private end(entry: Running): void {
    entry.ended = true;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.finish?.();
  }

  /** The server went away: close whatever it had open. */
  endAll(): void {
    for (const entry of this.running.values()) this.end(entry);
    this.running.clear();
  }

  dispose(): void {
    this.endAll();
  }
}
