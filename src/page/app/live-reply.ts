import { StreamingMarkdown } from '../markdown/streaming-markdown';

/**
 * The reply that is streaming in. Tokens go straight into the DOM through StreamingMarkdown, never through
 * Preact's state: a token costs a string append, and the view is rendered once per animation frame.
 */
export class LiveReply {
  private markdown: StreamingMarkdown | undefined;
  private pending = '';
  private thinkingNode: Text | undefined;
  private thinkingBox: HTMLElement | undefined;
  private thinkingPending = '';
  receivedText = false;

  /** Called by the message view once its element exists; text that came before is rendered at once. */
  attach(target: HTMLElement, thinking: HTMLElement | undefined): void {
    this.markdown = new StreamingMarkdown(target);
    if (this.pending !== '') this.markdown.append(this.pending);
    this.pending = '';
    if (thinking !== undefined) {
      this.thinkingBox = thinking;
      this.thinkingNode = document.createTextNode('');
      thinking.querySelector('pre')?.append(this.thinkingNode);
      if (this.thinkingPending !== '') this.appendThinking(this.thinkingPending);
      this.thinkingPending = '';
    }
  }

  append(text: string): void {
    this.receivedText = true;
    if (this.markdown === undefined) this.pending += text;
    else this.markdown.append(text);
  }

  appendThinking(text: string): void {
    if (this.thinkingNode === undefined) {
      this.thinkingPending += text;
      return;
    }
    // Shown only for a model that thinks; a `hidden` toggled once costs less than a :has() rule per frame.
    this.thinkingBox?.removeAttribute('hidden');
    this.thinkingNode.appendData(text);
  }

  /**
   * Renders what is still waiting for a frame: the reply is over, whatever the reason. A reply that got no
   * text is left open, so a retry of the same turn can still stream into it.
   */
  finish(): void {
    if (this.receivedText) this.markdown?.finish();
  }
}
