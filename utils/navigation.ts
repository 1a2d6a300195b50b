/** The dashboards' pages, in the order of the navigation. `key` is the keyboard shortcut after `g`. */
export const navigation = [
  { to: '/', label: 'Overview', key: 'o' },
  { to: '/conversations', label: 'Conversations', key: 'c' },
  { to: '/agents', label: 'Agents', key: 'a' },
  { to: '/projects', label: 'Projects', key: 'p' },
  { to: '/pipelines', label: 'Pipelines', key: 'l' },
  { to: '/costs', label: 'Costs', key: 'm' },
  { to: '/insights', label: 'Insights', key: 'i' },
  { to: '/context', label: 'Context', key: 'x' },
  { to: '/settings', label: 'Settings', key: 's' },
] as const
