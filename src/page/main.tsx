import { render } from 'preact';

render(<p>chatwire</p>, document.getElementById('app') as HTMLElement);
