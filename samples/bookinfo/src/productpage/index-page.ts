import { escapeHtml } from './html.js';
import type { UpstreamUrls } from './upstreams.js';

/** A node of the service graph shown on the index page. */
interface ServiceNode {
  name: string;
  endpoint: string;
  children: ServiceNode[];
}

/** The service graph as the original lists it (its root entry names details, as the original does). */
export function serviceGraph(urls: UpstreamUrls): ServiceNode {
  const details: ServiceNode = { name: urls.details, endpoint: 'details', children: [] };
  const ratings: ServiceNode = { name: urls.ratings, endpoint: 'ratings', children: [] };
  const reviews: ServiceNode = { name: urls.reviews, endpoint: 'reviews', children: [ratings] };
  return { name: urls.details, endpoint: 'details', children: [details, reviews] };
}

const TABLE_ATTRS = 'border="1" class="table table-condensed table-bordered table-hover"';

/** Renders the graph as nested tables, like json2html does for the original. */
function nodeTable(node: ServiceNode): string {
  return `<table ${TABLE_ATTRS}><tr><th>name</th><td>${escapeHtml(node.name)}</td></tr><tr><th>endpoint</th><td>${escapeHtml(node.endpoint)}</td></tr><tr><th>children</th><td>${childrenTable(node.children)}</td></tr></table>`;
}

function childrenTable(children: ServiceNode[]): string {
  if (children.length === 0) return '';
  const rows = children
    .map(
      (child) =>
        `<tr><td>${escapeHtml(child.name)}</td><td>${escapeHtml(child.endpoint)}</td><td>${childrenTable(child.children)}</td></tr>`,
    )
    .join('');
  return `<table ${TABLE_ATTRS}><thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The landing page: the service graph and links to the product page. */
export function renderIndexPage(urls: UpstreamUrls): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Simple Bookstore App</title>
<link rel="stylesheet" href="static/tailwind/tailwind.css">
</head>
<body>
<div class="container mx-auto px-4">
    <p><h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3></p>
    ${nodeTable(serviceGraph(urls))}
    <p><h4>Click on one of the links below to auto generate a request to the backend as a real user or a tester
    </h4></p>
    <p><a href="/productpage?u=normal">Normal user</a></p>
    <p><a href="/productpage?u=test">Test user</a></p>
</div>
</body>
</html>
`;
}
