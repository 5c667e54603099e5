/* grammar */
/* @fsm
machine t
kind dispatch
events GO
GO -> h
*/
