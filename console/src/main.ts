import 'uplot/dist/uPlot.min.css';
import { currentToken, setToken } from './auth.js';
import { h } from './dom.js';
import { benchPage, groupsPage, overviewPage, type Page, sqlPage, topicPage } from './pages.js';

/**
 * The Pyralog web console: static assets the broker serves at /, talking only
 * to the public HTTP API and the WebSocket JSON protocol of the same origin.
 * Pages are chosen by the URL's hash: #/, #/topics/NAME, #/groups, #/sql, #/bench.
 */
const main = document.getElementById('page')!;
let current: Page | null = null;

function route(): void {
  current?.dispose();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [, section, rest] = hash.split('/');
  if (section === 'topics' && rest !== undefined && rest !== '')
    current = topicPage(decodeURIComponent(rest));
  else if (section === 'groups') current = groupsPage();
  else if (section === 'sql') current = sqlPage();
  else if (section === 'bench') current = benchPage();
  else current = overviewPage();
  main.replaceChildren(current.element);
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', (link as HTMLAnchorElement).hash === `#/${section ?? ''}`);
  }
}

document.getElementById('nav')!.replaceChildren(
  h('a', { href: '#/' }, 'Overview'),
  h('a', { href: '#/groups' }, 'Consumer groups'),
  h('a', { href: '#/sql' }, 'SQL'),
  h('a', { href: '#/bench' }, 'Bench results'),
  h('input', {
    type: 'password',
    id: 'token',
    placeholder: 'token (if the broker asks)',
    'aria-label': 'access token',
    value: currentToken(),
    onchange: (event: Event) => {
      setToken((event.target as HTMLInputElement).value.trim());
      route();
    },
  }),
);
window.addEventListener('hashchange', route);
route();
