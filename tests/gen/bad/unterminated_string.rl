/* @fsm
protocol unterminated_string
events GO
full "never closed
@end */
