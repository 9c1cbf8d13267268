import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** Within this many pixels of the end, the reader counts as being at the bottom. */
const SLACK_PX = 48;

/**
 * Follows a growing reply only while the reader is at the bottom. Scrolling up detaches; `toBottom` (the
 * "jump to latest" button) attaches again. Growth is seen by a ResizeObserver on the content, so following
 * costs one scroll per layout, not one per token.
 */
export function useStickToBottom() {
  const scroller = useRef<HTMLElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(true);
  const sticking = useRef(true);

  useEffect(() => {
    const box = scroller.current;
    const inner = content.current;
    if (box === null || inner === null) return;
    const onScroll = () => {
      const bottom = box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;
      sticking.current = bottom;
      setAtBottom(bottom);
    };
    const follow = new ResizeObserver(() => {
      if (sticking.current) box.scrollTop = box.scrollHeight;
    });
    box.addEventListener('scroll', onScroll, { passive: true });
    follow.observe(inner);
    return () => {
      box.removeEventListener('scroll', onScroll);
      follow.disconnect();
    };
  }, []);

  const toBottom = useCallback(() => {
    const box = scroller.current;
    sticking.current = true;
    setAtBottom(true);
    if (box !== null) box.scrollTop = box.scrollHeight;
  }, []);

  return { scroller, content, atBottom, toBottom };
}
