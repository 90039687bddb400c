// Puts the rendered status (render.ts) on a real status bar item, and keeps the idle
// countdown in its tooltip moving while the model is ready and the window has focus.
import * as vscode from 'vscode';
import { renderStatus, tooltipCommands, type StatusBarInput, type StatusView } from './render';

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('localLlm.status', vscode.StatusBarAlignment.Right, 100);
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly focus: vscode.Disposable;
  private last: StatusView | null = null;

  constructor(private readonly input: () => StatusBarInput) {
    this.item.name = 'Local LLM';
    this.focus = vscode.window.onDidChangeWindowState(() => this.update());
    this.update();
    this.item.show();
  }

  get view(): StatusView | null {
    return this.last;
  }

  update(): StatusView {
    const input = this.input();
    const view = renderStatus(input);
    this.last = view;
    this.item.text = `$(${view.icon}) ${view.text}`;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = { enabledCommands: [...tooltipCommands] };
    this.item.tooltip = tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.backgroundColor ? new vscode.ThemeColor(view.backgroundColor) : undefined;
    this.item.accessibilityInformation = { label: `Local LLM: ${view.text}` };

    const counting = (view.key === 'ready' || view.key === 'generating') && input.status?.idleSecondsLeft != null;
    const tick = counting && vscode.window.state.focused;
    if (tick && this.ticker === null) this.ticker = setInterval(() => this.update(), 1000);
    if (!tick && this.ticker !== null) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
    return view;
  }

  dispose(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.focus.dispose();
    this.item.dispose();
  }
}
