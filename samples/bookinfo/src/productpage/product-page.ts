import { escapeHtml, field, truthy } from './html.js';
import type { Product } from './products.js';
import { starsHtml } from './stars.js';
import type { UpstreamResult } from './upstreams.js';

/** What the product page shows. */
export interface ProductPageModel {
  /** The signed-in user, '' when nobody is. */
  user: string;
  product: Product | undefined;
  details: UpstreamResult;
  reviews: UpstreamResult;
}

const LOGO_SVG =
  '<svg class="mx-auto h-24 w-auto" xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 320 320"><g id="logo" fill="#466BB0"><polygon id="hull" points="80 250 240 250 140 280 80 250"/><polygon id="mainsail" points="80 240 140 230 140 120 80 240"/><polygon id="headsail" points="150 230 240 240 150 40 150 230"/></g></svg>';

const DIALOG_SCRIPT = `<script type="text/javascript">
  window.addEventListener("DOMContentLoaded", (event) => {
    const dialog = document.querySelector("dialog");
    const showButton = document.querySelector("#sign-in-button");
    const closeButton = document.querySelector("#close-dialog");

    if (showButton) {
      showButton.addEventListener("click", () => {
        dialog.showModal();
      });
    }

    if (closeButton) {
      closeButton.addEventListener("click", () => {
        dialog.close();
      });
    }
  })
</script>`;

/** The whole product page, with the original's markup. */
export function renderProductPage(model: ProductPageModel): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    '<title>Simple Bookstore App</title>',
    '<link rel="stylesheet" href="static/tailwind/tailwind.css">',
    DIALOG_SCRIPT,
    '</head>',
    '<body>',
    navBar(model.user),
    signInDialog(),
    description(model.product),
    detailsSection(model.details),
    reviewsSection(model.reviews),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function navBar(user: string): string {
  const account = truthy(user)
    ? `<a href="#" class="group block flex-shrink-0">
          <div class="flex items-center">
            <div>
              <img class="inline-block h-9 w-9 rounded-full bg-blue-50" src="/static/img/izzy.png" alt="">
            </div>
            <div class="ml-4">
              <p class="text-base font-medium text-gray-50">${escapeHtml(user)}</p>
              <a href="logout" class="text-xs font-medium text-gray-400 hover:text-gray-300">Sign out</a>
            </div>
          </div>
        </a>`
    : `<button type="button" id="sign-in-button" class="rounded-md bg-blue-600 px-3.5 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-blue-500">
            Sign in
          </button>`;
  return `<nav class="bg-gray-800">
  <div class="container mx-auto px-4 sm:px-6 lg:px-8">
    <div class="relative flex h-16 items-center justify-between">
      <a href="#" class="text-white px-3 py-2 text-lg font-medium" aria-current="page">BookInfo Sample</a>
      <div class="absolute inset-y-0 right-0 flex items-center pr-2 sm:static sm:inset-auto sm:ml-6 sm:pr-0">
        ${account}
      </div>
    </div>
  </div>
</nav>`;
}

function signInDialog(): string {
  return `<!-- Sign in dialog -->
<dialog id="dialog" class="w-full sm:w-2/3 lg:w-1/3 border rounded-md shadow-xl">
  <div class="flex min-h-full flex-col justify-center px-6 py-12 lg:px-8">
    <div class="absolute right-0 top-0 hidden pr-4 pt-4 sm:block">
      <button id="close-dialog" type="button" class="rounded-md bg-white text-gray-400 hover:text-gray-500">
        <span class="sr-only">Close</span>
        <svg class="h-6 w-6" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true">
          <path stroke-linecap="round" stroke-linejoin="round" d="M6 18L18 6M6 6l12 12" />
        </svg>
      </button>
    </div>
    <div class="sm:mx-auto sm:w-full sm:max-w-sm">
      ${LOGO_SVG}
      <h2 class="mt-5 text-center text-2xl font-bold leading-9 tracking-tight text-gray-900">Sign in to BookInfo</h2>
    </div>
    <div class="mt-10 sm:mx-auto sm:w-full sm:max-w-sm">
      <form class="space-y-6" method="post" action="login" name="login_form">
        <div>
          <label for="username" class="block text-sm font-medium leading-6 text-gray-900">Username</label>
          <div class="mt-2">
            <input id="username" name="username" required class="block w-full px-3 rounded-md border-0 py-1.5 text-gray-900 shadow-sm ring-1 ring-inset ring-gray-300">
          </div>
        </div>
        <div>
          <div class="flex items-center justify-between">
            <label for="password" class="block text-sm font-medium leading-6 text-gray-900">Password</label>
          </div>
          <div class="mt-2">
            <input id="password" name="passwd" type="password" required class="block w-full px-3 rounded-md border-0 py-1.5 text-gray-900 shadow-sm ring-1 ring-inset ring-gray-300">
          </div>
        </div>
        <div>
          <button type="submit" class="flex w-full justify-center rounded-md bg-blue-600 px-3 py-1.5 text-sm font-semibold leading-6 text-white shadow-sm hover:bg-blue-500">Sign in</button>
        </div>
      </form>
      <p class="mt-10 text-center text-sm text-gray-500">
        Not using Istio yet?
        <a href="https://istio.io" target="_blank" class="font-semibold leading-6 text-blue-600 hover:text-blue-500">Start here</a>
      </p>
    </div>
  </div>
</dialog>`;
}

function description(product: Product | undefined): string {
  return `<!-- Book description section -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <h1 class="text-5xl font-bold tracking-tight text-blue-900">${escapeHtml(product?.title)}</h1>
  <div class="mt-6 max-w-4xl">
    <p class="mt-6 text-xl leading-8 text-gray-600">${product?.descriptionHtml ?? ''}</p>
    <div class="mt-6">
      <a href="https://istio.io" target="_blank" class="text-sm font-semibold leading-6 text-blue-600 hover:text-blue-700">Learn more about Istio <span aria-hidden="true">&rarr;</span></a>
    </div>
  </div>
</div>`;
}

const TH_FIRST = 'whitespace-nowrap py-3.5 pl-4 pr-3 text-left text-sm font-semibold text-gray-900 sm:pl-0';
const TH = 'whitespace-nowrap px-2 py-3.5 text-left text-sm font-semibold text-gray-900';

function detailsSection(result: UpstreamResult): string {
  const details = result.body;
  const inner =
    result.status === 200
      ? `<h4 class="text-3xl font-semibold">Book Details</h4>
          <div class="-mx-4 -my-2 overflow-x-auto sm:-mx-6 lg:-mx-8">
            <div class="inline-block min-w-full py-2 align-middle sm:px-6 lg:px-8">
              <table class="min-w-full divide-y divide-gray-300">
                <thead>
                  <tr>
                    <th scope="col" class="${TH_FIRST}">ISBN-10</th>
                    <th scope="col" class="${TH}">Publisher</th>
                    <th scope="col" class="${TH}">Pages</th>
                    <th scope="col" class="${TH}">Type</th>
                    <th scope="col" class="${TH}">Language</th>
                  </tr>
                </thead>
                <tbody class="divide-y divide-gray-200 bg-white">
                  <tr>
                    <td class="whitespace-nowrap py-2 pl-4 pr-3 text-sm text-gray-500 sm:pl-0">${escapeHtml(field(details, 'ISBN-10'))}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm font-medium text-gray-900">${escapeHtml(field(details, 'publisher'))}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-900">${escapeHtml(field(details, 'pages'))}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${escapeHtml(field(details, 'type'))}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${escapeHtml(field(details, 'language'))}</td>
                  </tr>
                </tbody>
              </table>
            </div>
          </div>`
      : `<p class="text-2xl text-red-500">Error fetching product details</p>${
          truthy(details)
            ? `\n          <p class="text-lg text-gray-600">${escapeHtml(field(details, 'error'))}</p>`
            : ''
        }`;
  return `<!-- Book details table -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <div class="mt-4 py-10">
    <div class="max-w-2xl">
      <div class="flow-root">
          ${inner}
      </div>
    </div>
  </div>
</div>`;
}

function reviewsSection(result: UpstreamResult): string {
  const reviews = result.body;
  let inner: string;
  if (result.status === 200) {
    const list = field(reviews, 'reviews');
    const items = Array.isArray(list) ? list.map((review) => reviewHtml(review, reviews)) : [];
    inner = `<h4 class="text-3xl font-semibold">Book Reviews</h4>
      <div class="flex flex-col md:flex-row">
${items.join('\n')}
      </div>`;
  } else {
    inner = `<p class="text-2xl text-red-500">Error fetching product reviews</p>${
      truthy(reviews) ? `\n      <p class="text-lg text-gray-600">${escapeHtml(field(reviews, 'error'))}</p>` : ''
    }`;
  }
  return `<!-- Book reviews section -->
<div class="bg-blue-600/5 py-12 mx-auto">
  <div class="container mx-auto px-4 sm:px-6 lg:px-8">
    <div class="max-w-2xl">
      ${inner}
    </div>
  </div>
</div>`;
}

function reviewHtml(review: unknown, reviews: unknown): string {
  const rating = field(review, 'rating');
  let ratingHtml = '';
  if (truthy(rating)) {
    const stars = field(rating, 'stars');
    if (truthy(stars)) {
      ratingHtml = starsHtml(Number(stars), String(field(rating, 'color') ?? ''));
    } else if (truthy(field(rating, 'error'))) {
      ratingHtml = `<p class="text-red-500">${escapeHtml(field(rating, 'error'))}</p>`;
    }
  }
  const clustername = field(reviews, 'clustername');
  const cluster = clustername !== 'null' ? `\n                  on cluster <div>${escapeHtml(clustername)}</div>` : '';
  return `        <section class="px-6 py-12 sm:py-8 lg:px-8">
          <div class="mx-auto max-w-2xl">
            ${ratingHtml}
            <blockquote class="mt-10 text-xl font-semibold leading-8 tracking-tight text-gray-900 sm:text-2xl sm:leading-9">
              <p>"${escapeHtml(field(review, 'text'))}"</p>
            </blockquote>
            <div class="mt-4 flex items-center gap-x-6">
              <img class="h-16 w-16 rounded-full bg-gray-50" src="/static/img/izzy.png" alt="Izzy">
              <div class="text-sm leading-6">
                <div class="font-semibold text-gray-900">${escapeHtml(field(review, 'reviewer'))}</div>
                <div class="mt-0.5 text-gray-600 font-mono">Reviews served by:
                  ${escapeHtml(field(reviews, 'podname'))}${cluster}
                </div>
              </div>
            </div>
          </div>
        </section>`;
}
