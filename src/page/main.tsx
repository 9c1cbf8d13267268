import { render } from 'preact';
import { App } from './app/app';
import { warmUpMarkdown } from './markdown/warm-up';
import './styles.css';

render(<App />, document.getElementById('app') as HTMLElement);
warmUpMarkdown();
