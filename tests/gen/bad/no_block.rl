/* Just a grammar, no table block. */
%%{
    machine x;
    main := 'a'*;
}%%
