/* SPDX-License-Identifier: MIT */
/* An empty program for the link-graph check (cmake/FmdLinkCheck.cmake): linked with the whole of
 * one module library and only the libraries it declares, it links only if that module calls
 * nothing outside its dependencies. */
int main(void)
{
    return 0;
}
