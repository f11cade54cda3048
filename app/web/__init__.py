"""The dashboard (a single page on the public GraphQL API) and the GraphiQL page, served from
files shipped inside the package: nothing is fetched from another host at run time."""
