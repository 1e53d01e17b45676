/** A product as the product page lists it. */
export interface Product {
  id: number;
  title: string;
  /** Trusted HTML, rendered unescaped. */
  descriptionHtml: string;
}

/** The catalogue: one book. */
export function getProducts(): Product[] {
  return [
    {
      id: 0,
      title: 'The Comedy of Errors',
      descriptionHtml:
        '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
    },
  ];
}
